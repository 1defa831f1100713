/*
 * catalog.c: not written yet.
 */
#include "catalog/catalog.h"
