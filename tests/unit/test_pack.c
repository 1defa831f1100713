/*
 * test_pack.c: not written yet.
 */
#include "tests/harness.h"
int main(void)
{
	return 77;
}
