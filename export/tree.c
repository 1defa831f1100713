/*
 * tree.c: not written yet.
 */
#include "export/iso_image.h"
