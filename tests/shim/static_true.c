/* SPDX-License-Identifier: MIT */
/* static_true.c: a statically linked program, which dsqlauth-run must refuse. */
int main(void)
{
    return 0;
}
