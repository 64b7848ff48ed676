// SO_REUSEPORT through net.Server's `reusePort` listen option: Node 22.12+ and 23.1+, on Linux and
// FreeBSD (elsewhere Node throws when it is asked for; older Nodes ignore the option).

/** Whether this Node, on this platform, can listen with `reusePort`. */
export function reusePortSupported(): boolean {
  if (process.platform !== 'linux' && process.platform !== 'freebsd') return false;
  const [major = 0, minor = 0] = process.versions.node.split('.').map(Number);
  return major >= 24 || (major === 23 && minor >= 1) || (major === 22 && minor >= 12);
}
