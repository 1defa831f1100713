/*
 * dirsource.c: not written yet.
 */
#include "catalog/source.h"
