# Sourced by the shell tests that run upfault with fixed ports (--proxy-url): ports from the kernel.
# A port taken back from the kernel is free only until someone else binds it (any connect of a test
# running beside this one may get it as its local port).
#
# port: a port the kernel picked, released for the caller to bind.
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
# taken OUT: upfault's output OUT says it could not listen on a port the test picked because another
# process holds it: the run never started, so nothing in it is a result.
taken() { grep -q "cannot listen on .*Address already in use" "$1"; }
# again_if_taken OUT: when OUT says so, the whole test starts again on fresh ports (after the
# caller's `cleanup`, which exec does not run), at most twice; otherwise nothing happens and the
# caller judges OUT as it is. Needs the test's own arguments in test_argv.
again_if_taken() {
  taken "$1" || return 0
  local attempt=${UPFAULT_PORTS_ATTEMPT:-1}
  ((attempt < 3)) || return 0
  echo "note: $(grep -m1 'cannot listen on' "$1"); the test again on fresh ports (attempt $((attempt + 1)))"
  trap - EXIT
  cleanup
  UPFAULT_PORTS_ATTEMPT=$((attempt + 1)) exec bash "$0" "${test_argv[@]}"
}
