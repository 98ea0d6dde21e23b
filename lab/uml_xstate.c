/*
 * uml_xstate.so: lets Debian 12's User-Mode Linux (6.1) run on a host whose XSAVE area is larger than UML knows,
 * and spares it the FPU writes that change nothing.
 *
 * UML 6.1 reads and writes the FPU state of its processes with PTRACE_GETREGSET / PTRACE_SETREGSET
 * (NT_X86_XSTATE) on a buffer of sizeof(struct _xstate) = 832 bytes (x87, SSE, AVX): a read at every stop of a
 * process (system call, page fault, timer) and a write before it runs again. A host kernel refuses a
 * PTRACE_SETREGSET whose size is not its whole XSAVE area (EFAULT); with AVX-512 or AMX on the host that area is
 * larger, so UML's init dies at its first context switch ("ptrace set fp regs failed, errno = 14"). Later UML
 * kernels size the buffer from the host.
 *
 * Loaded with LD_PRELOAD into linux.uml only (lab/lab), this wraps ptrace():
 *  - it remembers what UML last read of each stopped process (until that process runs again: PTRACE_CONT,
 *    PTRACE_SYSEMU, ...), so a write of exactly those bytes - the common case: UML gives a process back the state
 *    it stopped with - is skipped: the process holds that state already. On this kind of host a write costs about
 *    10 us (the kernel allocates a buffer for each), a whole stop without it about 5 us.
 *  - any other write is completed to the host's size: UML's bytes first, then the components UML does not know as
 *    the host process holds them now (read just before), with the header's xstate_bv taken from UML for the
 *    components inside UML's buffer and from the host for the others.
 * Every other call passes through.
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
#define AREA_MAX 32768
#define SEEN_MAX 4096
#define SLOTS 64

typedef long (*ptrace_fn)(int, pid_t, void *, void *);

/* What UML last read of a stopped process's FPU state; len 0: nothing valid (it ran since, or never read). */
static struct slot {
    pid_t pid;
    size_t len;
    unsigned char seen[SEEN_MAX];
} slots[SLOTS];
static unsigned int next_slot;
static unsigned char area[AREA_MAX] __attribute__((aligned(64)));

static struct slot *find(pid_t pid)
{
    unsigned int i;
    for (i = 0; i < SLOTS; i++)
        if (slots[i].pid == pid)
            return &slots[i];
    return NULL;
}

static struct slot *take(pid_t pid)
{
    struct slot *slot = find(pid);
    if (!slot) {
        slot = &slots[next_slot++ % SLOTS];
        slot->pid = pid;
        slot->len = 0;
    }
    return slot;
}

/* The xstate_bv bits of the components that lie wholly inside the first len bytes (standard format). */
static uint64_t components_within(size_t len)
{
    static size_t known_len;
    static uint64_t known_mask;
    uint64_t mask = 0x3; /* x87 and SSE: the legacy region */
    unsigned int eax, ebx, ecx, edx, i;
    if (len == known_len)
        return known_mask;
    for (i = 2; i < 63; i++) {
        if (!__get_cpuid_count(0xd, i, &eax, &ebx, &ecx, &edx) || eax == 0)
            continue;
        if ((size_t)ebx + eax <= len)
            mask |= (uint64_t)1 << i;
    }
    known_len = len;
    known_mask = mask;
    return mask;
}

long ptrace(enum __ptrace_request request, ...)
{
    static ptrace_fn real;
    va_list ap;
    pid_t pid;
    void *addr, *data;
    struct slot *slot;
    long rc;

    va_start(ap, request);
    pid = va_arg(ap, pid_t);
    addr = va_arg(ap, void *);
    data = va_arg(ap, void *);
    va_end(ap);
    if (!real)
        real = (ptrace_fn)dlsym(RTLD_NEXT, "ptrace");

    if ((request == PTRACE_GETREGSET || request == PTRACE_SETREGSET) && (uintptr_t)addr == NT_X86_XSTATE_NOTE && data
        && ((struct iovec *)data)->iov_len >= XSAVE_HEADER + 8 && ((struct iovec *)data)->iov_len <= SEEN_MAX) {
        struct iovec *iov = data;
        if (request == PTRACE_GETREGSET) {
            rc = real(request, pid, addr, data);
            slot = take(pid);
            slot->len = rc == 0 ? iov->iov_len : 0;
            if (rc == 0)
                memcpy(slot->seen, iov->iov_base, iov->iov_len);
            return rc;
        }
        slot = find(pid);
        if (slot && slot->len == iov->iov_len && memcmp(slot->seen, iov->iov_base, iov->iov_len) == 0)
            return 0; /* the process holds exactly this state already */
        {
            struct iovec full = {area, AREA_MAX};
            uint64_t inside, ours, theirs;
            if (real(PTRACE_GETREGSET, pid, addr, &full) != 0 || full.iov_len <= iov->iov_len)
                return real(request, pid, addr, data);
            inside = components_within(iov->iov_len);
            memcpy(&theirs, area + XSAVE_HEADER, 8);
            memcpy(area, iov->iov_base, iov->iov_len);
            memcpy(&ours, area + XSAVE_HEADER, 8);
            ours = (ours & inside) | (theirs & ~inside);
            memcpy(area + XSAVE_HEADER, &ours, 8);
            slot = take(pid);
            slot->len = 0; /* read again at its next stop */
            return real(PTRACE_SETREGSET, pid, addr, &full);
        }
    }
    /* The process runs, or goes: what was read of it is no longer its state. */
    if (request == PTRACE_CONT || request == PTRACE_SYSCALL || request == PTRACE_SINGLESTEP
        || request == PTRACE_SYSEMU || request == PTRACE_SYSEMU_SINGLESTEP || request == PTRACE_DETACH
        || request == PTRACE_KILL) {
        slot = find(pid);
        if (slot)
            slot->len = 0;
    }
    return real(request, pid, addr, data);
}
