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
#define PIER_MSG_HOOKS 5u       /* C init: mounts done, run createRuntime hooks */
#define PIER_MSG_CONTINUE 6u    /* runtime: hooks done, go on */
#define PIER_MSG_READY 7u       /* C init: all set up, waiting for start (or exec) */

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
	uint32_t cinit;      /* 1: the clone runs the C init (cinit.c), 0: it goes on into Go */
};

/* Fixed-size reply so both sides read it with one full read. */
#define PIER_REPLY_TEXT 244
struct pier_reply {
	uint32_t type;
	int32_t pid;
	int32_t err;
	char text[PIER_REPLY_TEXT];
};

/* The C init's plan (cinit.c), runtime -> clone, after PID: a header,
 * then nops operations of (uint32 op, uint32 nstr, uint64 arg[4]) each
 * followed by nstr strings of (uint32 len, len bytes); Go ends every text
 * string with a NUL counted in len. Operation numbers are PIER_OP_*. */
#define PIER_PLAN_MAGIC 0x4e414c50u /* "PLAN" */
#define PIER_PLAN_VERSION 1u
#define PIER_PLAN_MAX (8u << 20)
struct pier_plan_hdr {
	uint32_t magic;
	uint32_t version;
	uint32_t len; /* bytes after this header */
	uint32_t nops;
};
struct pier_op_hdr {
	uint32_t op;
	uint32_t nstr;
	uint64_t arg[4];
};

#define PIER_OP_CGROUPNS_JOIN 1  /* arg0 fd */
#define PIER_OP_CGROUPNS_NEW 2
#define PIER_OP_SETSID 3
#define PIER_OP_KEYRING 4        /* s0 name */
#define PIER_OP_OOM_SCORE 5      /* s0 value, through the verified /proc */
#define PIER_OP_MOUNT 6          /* s0 src, s1 target, s2 type, s3 data; arg0 flags */
#define PIER_OP_MOUNT_IN_ROOT 7  /* s0 root, s1 src, s2 dst, s3 type, s4 data; arg0 flags, arg1 bind */
#define PIER_OP_REMOUNT_IN_ROOT 8 /* s0 root, s1 dst; arg0 flags */
#define PIER_OP_PROPAGATE_IN_ROOT 9 /* s0 root, s1 dst; arg0 flags */
#define PIER_OP_SETATTR_IN_ROOT 10 /* s0 root, s1 dst; arg0 set, arg1 clr */
#define PIER_OP_MKNOD_IN_ROOT 11 /* s0 root, s1 path; arg0 mode, arg1 dev, arg2 uid, arg3 gid */
#define PIER_OP_SYMLINK_IN_ROOT 12 /* s0 root, s1 path, s2 target, s3 if-exists; arg0 replace */
#define PIER_OP_MKDIR_IN_ROOT 13 /* s0 root, s1 path; arg0 mode */
#define PIER_OP_HOSTNAME 14      /* s0 */
#define PIER_OP_DOMAINNAME 15    /* s0 */
#define PIER_OP_SYNC_HOOKS 16
#define PIER_OP_PIVOT 17         /* s0 rootfs; arg0 PIER_PIVOT_* */
#define PIER_OP_READONLY 18      /* s0 path */
#define PIER_OP_MASK 19          /* s0 path */
#define PIER_OP_REMOUNT_KEEPING 20 /* s0 path; arg0 extra flags */
#define PIER_OP_PROC_CLONE 21
#define PIER_OP_SYSCTL 22        /* s0 name under /proc, s1 value, s2 key */
#define PIER_OP_CHDIR 23         /* s0 cwd */
#define PIER_OP_ARGS 24          /* s... argv */
#define PIER_OP_ENV 25           /* s... env; arg0 uid for HOME, arg1 add HOME */
#define PIER_OP_LOOKPATH 26
#define PIER_OP_READY 27
#define PIER_OP_WAIT_FIFO 28     /* arg0 fd */
#define PIER_OP_CLOSE_FROM 29    /* arg0 fd */
#define PIER_OP_RLIMIT 30        /* arg0 resource, arg1 soft, arg2 hard; s0 name */
#define PIER_OP_SECCOMP 31       /* arg0 flags; s0 the BPF program */
#define PIER_OP_CAPBSET 32       /* arg0 keep, arg1 last cap */
#define PIER_OP_USER 33          /* arg0 uid, arg1 gid; s0 the groups, uint32 each */
#define PIER_OP_CAPSET 34        /* arg0 effective, arg1 permitted, arg2 inheritable, arg3 ambient */
#define PIER_OP_NNP 35
#define PIER_OP_UMASK 36         /* arg0 */
#define PIER_OP_PERSONALITY 37   /* arg0 */
#define PIER_OP_EXEC 38
#define PIER_OP_MAX 38

#define PIER_PIVOT_ROOT 0
#define PIER_PIVOT_MOVE 1
#define PIER_PIVOT_CHROOT 2

#endif
