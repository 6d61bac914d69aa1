package seccomp

const childEnv = "PIER_SECCOMP_CHILD"

func childMain() int { return 0 }
