/*
 * cat.c: not written yet.
 */
#include "catalog/cat.h"
