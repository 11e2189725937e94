# Sourced by the shell tests that run upfault with fixed ports (--proxy-url): ports from the kernel.
# port: a port the kernel picked, released for the caller to bind (a test retries if another
# process takes it meanwhile).
port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
# pick_endpoints: endpoint_opts, every endpoint port from the kernel too (by default they follow
# the upstream port, which another process may hold).
pick_endpoints() {
  endpoint_opts=()
  for name in refused blackhole accept-close accept-reset tls tls-h2 tls-stall tls-garbage tls-alert tls-expired \
              tls-wrong-name tls-untrusted; do
    endpoint_opts+=("--$name-port" "$(port)")
  done
}
