/*
 * uml_xstate.so: lets Debian 12's User-Mode Linux (6.1) run on a host whose XSAVE area is larger than UML knows.
 *
 * UML 6.1 saves and restores the FPU state of its processes with PTRACE_GETREGSET / PTRACE_SETREGSET
 * (NT_X86_XSTATE) on a buffer of sizeof(struct _xstate) = 832 bytes (x87, SSE, AVX). A host kernel refuses a
 * PTRACE_SETREGSET whose size is not its whole XSAVE area (EFAULT); with AVX-512 or AMX on the host that area is
 * larger, so UML's init dies at its first context switch ("ptrace set fp regs failed, errno = 14"). Later UML
 * kernels size the buffer from the host.
 *
 * Loaded with LD_PRELOAD into linux.uml only (lab/lab), this wraps ptrace(): a PTRACE_SETREGSET of NT_X86_XSTATE
 * shorter than the host's area is completed to the host's size - UML's bytes first, then the components UML does
 * not know as the host process holds them now (read with PTRACE_GETREGSET), with the header's xstate_bv taken from
 * UML for the components inside UML's buffer and from the host for the others. Every other call passes through.
 */
#define _GNU_SOURCE
#include <cpuid.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/types.h>
#include <sys/uio.h>

#define NT_X86_XSTATE_NOTE 0x202
#define XSAVE_HEADER 512 /* offset of the XSAVE header (xstate_bv) in the standard format */
#define AREA_MAX 65536

typedef long (*ptrace_fn)(int, pid_t, void *, void *);

static unsigned char area[AREA_MAX] __attribute__((aligned(64)));

/* The xstate_bv bits of the components that lie wholly inside the first len bytes (standard format). */
static uint64_t components_within(size_t len)
{
    uint64_t mask = 0x3; /* x87 and SSE: the legacy region */
    unsigned int eax, ebx, ecx, edx, i;
    for (i = 2; i < 63; i++) {
        if (!__get_cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx) || eax == 0)
            continue;
        if ((size_t)ebx + eax <= len)
            mask |= (uint64_t)1 << i;
    }
    return mask;
}

long ptrace(enum __ptrace_request request, ...)
{
    static ptrace_fn real;
    va_list ap;
    pid_t pid;
    void *addr, *data;

    va_start(ap, request);
    pid = va_arg(ap, pid_t);
    addr = va_arg(ap, void *);
    data = va_arg(ap, void *);
    va_end(ap);
    if (!real)
        real = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");

    if (request == PTRACE_SETREGSET && (uintptr_t)addr == NT_X86_XSTATE_NOTE && data) {
        struct iovec *iov = data;
        struct iovec full = {area, sizeof(area)};
        if (iov->iov_len >= XSAVE_HEADER + 8 && iov->iov_len < sizeof(area)
            && real(PTRACE_GETREGSET, pid, addr, &full) == 0 && full.iov_len > iov->iov_len) {
            uint64_t inside = components_within(iov->iov_len), ours, theirs;
            memcpy(&theirs, area + XSAVE_HEADER, 8);
            memcpy(area, iov->iov_base, iov->iov_len);
            memcpy(&ours, area + XSAVE_HEADER, 8);
            ours = (ours & inside) | (theirs & ~inside);
            memcpy(area + XSAVE_HEADER, &ours, 8);
            return real(PTRACE_SETREGSET, pid, addr, &full);
        }
    }
    return real(request, pid, addr, data);
}
