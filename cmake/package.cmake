# cmake --build --preset release --target package: a Debian package (CPack DEB) of everything
# `cmake --install` installs, into /usr: the CLI and reference proxy, the profiles (node-http-proxy
# with its npm modules), the corpus, and the library, headers and CMake package for GoogleTest
# users. The binaries find the profiles and the corpus beside them (../share/upfault), so the
# package also runs unpacked anywhere (dpkg-deb -x), as the test suite runs it.
if(NOT EXISTS ${PROJECT_SOURCE_DIR}/proxies/node-http-proxy/node_modules/http-proxy/package.json)
  message(STATUS "upfault: proxies/node-http-proxy/node_modules is missing (scripts/install-deps.sh runs npm ci): "
                 "the package's node-http-proxy profile will not run")
endif()
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME upfault)
set(CPACK_PACKAGE_VENDOR "upfault")
# The Maintainer field: whoever builds and ships the package, e.g.
# -DUPFAULT_PACKAGE_CONTACT="Platform team <platform@example.org>".
set(UPFAULT_PACKAGE_CONTACT "upfault developers <maintainers@upfault.invalid>"
  CACHE STRING "The Debian package's Maintainer: NAME <EMAIL> of whoever ships it")
set(CPACK_PACKAGE_CONTACT "${UPFAULT_PACKAGE_CONTACT}")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
string(CONCAT CPACK_PACKAGE_DESCRIPTION
  "upfault puts a scripted, misbehaving upstream behind a reverse proxy (nginx, HAProxy, your own)\n"
  "and checks that the proxy tells its clients the truth, as RFC 9110 and RFC 9112 require.")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION devel)
# Depends: computed from the binaries' shared libraries (libfmt9, libre2-9, libboost-json1.81.0,
# libtomlplusplus3, libstdc++6, libc6) by dpkg-shlibdeps.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# Stripped, as Debian ships binaries (a Debug build's symbols would make it 40 MiB).
set(CPACK_STRIP_FILES ON)
# A proxy to test; nodejs only runs the node-http-proxy profile, so it is a suggestion (it would
# bring a JavaScript runtime to every install).
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS "nginx-light | haproxy | apache2 | caddy | varnish | squid")
set(CPACK_DEBIAN_PACKAGE_SUGGESTS
  "nodejs, libboost-dev, libboost-json-dev, libtomlplusplus-dev, libfmt-dev, libre2-dev, libnghttp2-dev, libgtest-dev, cmake, ninja-build")
include(CPack)
