/*
 * synth.c: not written yet.
 */
#include "catalog/catalog.h"
