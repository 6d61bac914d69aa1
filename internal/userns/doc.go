//go:build linux

// Package userns makes a CRI pod's user namespace and the namespaces its
// containers share, owned by it, without a process to hold them.
//
// A pod with a user namespace of its own (Kubernetes' hostUsers: false)
// needs its network, IPC and UTS namespaces made inside that user
// namespace: the kernel lets the containers' root mount sysfs only in a
// network namespace, and mqueue only in an IPC namespace, that its user
// namespace owns, and sethostname likewise. Lifecycle:
//
//	NewPod(paths, uids, gids, hostname)  RunPodSandbox: a short-lived holder
//	                                     process is cloned into new user, net,
//	                                     IPC and UTS namespaces, pierd writes
//	                                     its id maps, bind-mounts its
//	                                     /proc/PID/ns/* on paths and lets it go
//	Delete(path)                         StopPodSandbox: unmount and remove
//	GrantSearch / RevokeSearch           the pod's root may traverse the
//	                                     engine's 0700 directories to its
//	                                     rootfs and state files, by an ACL
//	                                     entry naming its host uid alone
//
// The holder is pierd's own binary run again (HolderMain): a fork without
// an exec cannot be done safely from a multi-threaded Go process, and
// unshare(CLONE_NEWUSER) is refused to one.
package userns
