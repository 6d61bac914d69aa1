#ifndef PIER_SIGFWD_H
#define PIER_SIGFWD_H

/* See sigfwd.go. */
int pier_sigfwd_catch(const int *sigs, int n);
void pier_sigfwd_forward(int pidfd);
void pier_sigfwd_stop(void);

#endif
