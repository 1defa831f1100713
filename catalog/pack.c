/*
 * pack.c: being written.
 */
#include "catalog/pack.h"
