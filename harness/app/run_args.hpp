#pragma once
// `upfault run`'s command line, as parsed (run.cpp).
#include <string>
#include <vector>

#include "upfault/scenario.hpp"

namespace upfault::cli {

struct RunArgs {
  std::vector<std::string> paths;
  std::vector<std::string> filters;
  std::string proxy;
  std::string proxy_url;
  std::string proxy_name;
  std::string tls_dir;
  std::vector<std::string> upstream_protocols;
  EndpointPorts ports;
  std::string read_timeout;
  std::string connect_timeout;
  unsigned jobs = 64;
  unsigned lanes = 0;  // 0: one proxy, `jobs` scenarios in flight
  bool no_isolation = false, no_keepalive_probe = false;
  unsigned repeat = 1;
  std::string deadline;
  std::string json;
  std::string junit;
  std::string summary;
  std::string shard;
  std::string baseline;        // hold the run to these known outcomes
  std::string write_baseline;  // record this run's outcomes
  bool strict = false;         // stricter counts as a failure
  bool allow_remote = false;
  bool verbose = false;
  bool quiet = false;
};

}  // namespace upfault::cli
