/*
 * nsenter.h: the wire format between pier-runtime (Go, parent) and the C
 * preamble that runs in the child before the Go runtime starts. Every
 * constant is declared here once; nsenter_test.go checks the Go side
 * (protocol.go) against these values through cgo.
 */
#ifndef PIER_NSENTER_H
#define PIER_NSENTER_H

#include <stdint.h>

/* Environment variable holding the bootstrap socket's fd number. */
#define PIER_BOOTSTRAP_ENV "_PIER_BOOTSTRAP_FD"
/* The opt-in timeline's file (internal/trace): one line per stage. */
#define PIER_TRACE_ENV "PIER_TRACE"

#define PIER_BOOTSTRAP_MAGIC 0x52454950u /* "PIER", little endian */
#define PIER_BOOTSTRAP_VERSION 1u

/* What ps shows: argv (cmdline) and comm (at most 15 characters) of the
 * preamble's process (P) and of the clone that goes on into Go (C). The
 * runtime starts P with PIER_NAME_PREAMBLE as argv[0], which leaves C the
 * room to rename itself in place. */
#define PIER_NAME_PREAMBLE "pier-runtime:[preamble]"
#define PIER_NAME_INIT "pier-runtime:[init]"
#define PIER_COMM_PREAMBLE "pier:[preamble]"
#define PIER_COMM_INIT "pier:[init]"

/* Limits of one bootstrap message. */
#define PIER_MAX_JOIN 10
#define PIER_MAX_CGROUP 16
#define PIER_MAX_PATH 4096
#define PIER_MAX_TIMENS 512

/* Reply types, child -> parent, and the one ack, parent -> child. */
#define PIER_MSG_USERMAP 1u     /* pid in a new userns: write its uid/gid maps */
#define PIER_MSG_USERMAP_ACK 2u /* parent: maps written */
#define PIER_MSG_PID 3u         /* pid (parent's pid ns) of the process going on into Go */
#define PIER_MSG_ERROR 4u       /* err = errno, text = what failed */

/* Kinds of cgroup entry. */
#define PIER_CGROUP_TASKS 1u /* a cgroup v1 directory: the process writes "0" to its tasks */
#define PIER_CGROUP_V2DIR 2u /* a cgroup v2 directory: the clone lands in it */

/* Bootstrap header, parent -> child. Followed by njoin entries of
 * (uint32 nstype, uint32 len, len bytes of path, no NUL), ncgroup entries
 * of (uint32 kind, uint32 len, path) of the same shape, and then
 * timens_len bytes of /proc/self/timens_offsets text. */
struct pier_bootstrap {
	uint32_t magic;
	uint32_t version;
	uint32_t cloneflags; /* namespaces to create (CLONE_NEW*) */
	uint32_t njoin;      /* namespaces to join by path */
	uint32_t timens_len;
	uint32_t ncgroup;    /* cgroups to enter */
};

/* Fixed-size reply so both sides read it with one full read. */
#define PIER_REPLY_TEXT 244
struct pier_reply {
	uint32_t type;
	int32_t pid;
	int32_t err;
	char text[PIER_REPLY_TEXT];
};

#endif
