/*
 * inf.c: not written yet.
 */
#include "catalog/inf.h"
