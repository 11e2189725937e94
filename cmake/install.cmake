# cmake --install: the CLI and reference proxy, the libraries and headers, profiles and the
# corpus, and a CMake package so that find_package(upfault CONFIG REQUIRED) works.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

install(TARGETS upfault upfault-reference-proxy RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(TARGETS upfault_asio upfault_core upfault_gtest upfault_warnings EXPORT upfaultTargets
  ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
  INCLUDES DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(DIRECTORY harness/include/upfault DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
# With node-http-proxy's npm modules (scripts/install-deps.sh installs them), so that profile runs.
install(DIRECTORY proxies/ DESTINATION ${CMAKE_INSTALL_DATADIR}/upfault/proxies
  PATTERN "*.cpp" EXCLUDE PATTERN CMakeLists.txt EXCLUDE)
install(DIRECTORY scenarios/ DESTINATION ${CMAKE_INSTALL_DATADIR}/upfault/scenarios)
install(DIRECTORY bench/scenarios/ DESTINATION ${CMAKE_INSTALL_DATADIR}/upfault/bench-scenarios)
install(FILES harness/gtest/scenario_tests_main.cpp cmake/upfaultFunctions.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/upfault)

install(EXPORT upfaultTargets NAMESPACE upfault:: DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/upfault)
configure_package_config_file(cmake/upfaultConfig.cmake.in ${CMAKE_CURRENT_BINARY_DIR}/upfaultConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/upfault
  PATH_VARS CMAKE_INSTALL_BINDIR CMAKE_INSTALL_DATADIR)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/upfaultConfigVersion.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/upfaultConfig.cmake ${CMAKE_CURRENT_BINARY_DIR}/upfaultConfigVersion.cmake
  DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/upfault)

# /usr/share/doc/upfault: the README, the copyright file and the changelog (gzipped, as Debian
# ships documentation).
add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/doc/changelog.gz
  COMMAND ${CMAKE_COMMAND} -E make_directory ${CMAKE_CURRENT_BINARY_DIR}/doc
  COMMAND sh -c "gzip -9n < '${PROJECT_SOURCE_DIR}/docs/changelog.md' > '${CMAKE_CURRENT_BINARY_DIR}/doc/changelog.gz'"
  DEPENDS ${PROJECT_SOURCE_DIR}/docs/changelog.md VERBATIM)
add_custom_target(changelog ALL DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/doc/changelog.gz)
install(FILES README.md docs/copyright ${CMAKE_CURRENT_BINARY_DIR}/doc/changelog.gz DESTINATION ${CMAKE_INSTALL_DOCDIR})

# Man pages from the CLI's own --help (scripts/make-manpages.sh, help2man): upfault(1) and
# upfault-COMMAND(1) per subcommand, built with the CLI so they never drift from it.
find_program(UPFAULT_HELP2MAN help2man)
if(UPFAULT_HELP2MAN)
  add_custom_command(OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/man/upfault.1.gz
    COMMAND bash ${PROJECT_SOURCE_DIR}/scripts/make-manpages.sh $<TARGET_FILE:upfault> ${PROJECT_VERSION}
            ${CMAKE_CURRENT_BINARY_DIR}/man
    DEPENDS upfault ${PROJECT_SOURCE_DIR}/scripts/make-manpages.sh VERBATIM)
  add_custom_target(manpages ALL DEPENDS ${CMAKE_CURRENT_BINARY_DIR}/man/upfault.1.gz)
  install(DIRECTORY ${CMAKE_CURRENT_BINARY_DIR}/man/ DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(STATUS "upfault: help2man is missing (scripts/install-deps.sh installs it): no man pages")
endif()
