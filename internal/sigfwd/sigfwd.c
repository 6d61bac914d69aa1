// The signal handler of a foreground `run` or `exec`: see sigfwd.go.
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sigfwd.h"

#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif

#define NSIG_FWD 65

static int target = -1;         /* pidfd of the process, -1 until forward */
static uint64_t pending;        /* signals caught before then, bit sig-1 */
static struct sigaction saved[NSIG_FWD];
static int caught[NSIG_FWD];

static void send_sig(int fd, int sig)
{
	syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

/* Sends what was kept; either side may run it, the exchange hands each
 * kept signal to exactly one of them. */
static void deliver_pending(void)
{
	int fd = __atomic_load_n(&target, __ATOMIC_SEQ_CST);
	if (fd < 0)
		return;
	uint64_t bits = __atomic_exchange_n(&pending, 0, __ATOMIC_SEQ_CST);
	for (int sig = 1; bits; sig++, bits >>= 1)
		if (bits & 1)
			send_sig(fd, sig);
}

static void handler(int sig)
{
	int saved_errno = errno;
	int fd = __atomic_load_n(&target, __ATOMIC_SEQ_CST);
	if (fd >= 0) {
		send_sig(fd, sig);
	} else if (fd == -1) {
		__atomic_or_fetch(&pending, (uint64_t)1 << (sig - 1), __ATOMIC_SEQ_CST);
		deliver_pending(); /* forward may have run in between */
	}
	errno = saved_errno;
}

/* Installs the handler for sigs, keeping the handlers it replaces for
 * stop. SA_ONSTACK: on a Go thread it runs on the thread's signal stack. */
int pier_sigfwd_catch(const int *sigs, int n)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = handler;
	sa.sa_flags = SA_ONSTACK | SA_RESTART;
	sigfillset(&sa.sa_mask);
	__atomic_store_n(&target, -1, __ATOMIC_SEQ_CST);
	for (int i = 0; i < n; i++) {
		int sig = sigs[i];
		if (sig <= 0 || sig >= NSIG_FWD)
			return -EINVAL;
		if (sigaction(sig, &sa, &saved[sig]) < 0)
			return -errno;
		caught[sig] = 1;
	}
	return 0;
}

void pier_sigfwd_forward(int pidfd)
{
	__atomic_store_n(&target, pidfd, __ATOMIC_SEQ_CST);
	deliver_pending();
}

/* Puts the replaced handlers back; a signal still kept is dropped. */
void pier_sigfwd_stop(void)
{
	__atomic_store_n(&target, -2, __ATOMIC_SEQ_CST);
	for (int sig = 1; sig < NSIG_FWD; sig++) {
		if (caught[sig]) {
			sigaction(sig, &saved[sig], NULL);
			caught[sig] = 0;
		}
	}
	__atomic_store_n(&pending, 0, __ATOMIC_SEQ_CST);
}
