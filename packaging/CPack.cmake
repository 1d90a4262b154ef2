# Install layout, the mcguard(1) man page, packaging checks, and the .deb and
# .rpm that CPack makes from the installed tree. Included from the top-level
# CMakeLists.txt after the mcguard target. packaging/build-packages configures
# a build for packages (prefix /usr, configuration /etc/mcguard/mcguard.conf)
# and runs CPack. `cmake --build <dir> --target package` in a directory
# configured the same way also works, but first builds everything, tests included.
include(GNUInstallDirs)

set(MCGUARD_PACKAGING_DIR ${CMAKE_CURRENT_LIST_DIR})
set(CMAKE_INSTALL_DEFAULT_DIRECTORY_PERMISSIONS OWNER_READ OWNER_WRITE OWNER_EXECUTE GROUP_READ
                                                GROUP_EXECUTE WORLD_READ WORLD_EXECUTE)

# The man page: hand-written sections plus an OPTIONS section generated from
# `mcguard --help`, rebuilt whenever the binary changes.
set(MCGUARD_MANPAGE ${CMAKE_BINARY_DIR}/mcguard.1)
add_custom_command(
  OUTPUT ${MCGUARD_MANPAGE} ${MCGUARD_MANPAGE}.gz
  COMMAND ${MCGUARD_PACKAGING_DIR}/manpage $<TARGET_FILE:mcguard> ${MCGUARD_PACKAGING_DIR}/mcguard.1.in
          ${MCGUARD_MANPAGE}
  DEPENDS mcguard ${MCGUARD_PACKAGING_DIR}/manpage ${MCGUARD_PACKAGING_DIR}/mcguard.1.in
  COMMENT "Generating mcguard(1) from mcguard --help"
  VERBATIM)
add_custom_target(mcguard_manpage ALL DEPENDS ${MCGUARD_MANPAGE}.gz)

# The Debian changelog of this native package (one entry, the project's version).
configure_file(${MCGUARD_PACKAGING_DIR}/changelog.in ${CMAKE_BINARY_DIR}/packaging/changelog @ONLY)
execute_process(COMMAND gzip -9nf ${CMAKE_BINARY_DIR}/packaging/changelog)
# dpkg keeps the administrator's edits to conffiles across upgrades.
file(WRITE ${CMAKE_BINARY_DIR}/packaging/conffiles
     "${CMAKE_INSTALL_FULL_SYSCONFDIR}/mcguard/mcguard.conf\n")

install(TARGETS mcguard RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# /etc/mcguard with prefix /usr (GNUInstallDirs maps /usr's sysconfdir to /etc).
install(FILES ${CMAKE_SOURCE_DIR}/conf/mcguard.conf DESTINATION ${CMAKE_INSTALL_FULL_SYSCONFDIR}/mcguard)
install(FILES ${MCGUARD_PACKAGING_DIR}/mcguard.service DESTINATION lib/systemd/system)
install(FILES ${MCGUARD_MANPAGE}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
set(MCGUARD_DOC_DIR ${CMAKE_INSTALL_DATAROOTDIR}/doc/mcguard)
install(FILES ${MCGUARD_PACKAGING_DIR}/copyright ${CMAKE_SOURCE_DIR}/README.md
              ${CMAKE_BINARY_DIR}/packaging/changelog.gz
        DESTINATION ${MCGUARD_DOC_DIR})
install(FILES ${MCGUARD_PACKAGING_DIR}/k8s/mcguard-sidecar.yaml
        DESTINATION ${MCGUARD_DOC_DIR}/examples)

# The man page and the shipped configuration never fall behind --help.
add_test(NAME manpage_lists_every_option
         COMMAND ${MCGUARD_PACKAGING_DIR}/check-manpage $<TARGET_FILE:mcguard> ${MCGUARD_MANPAGE}.gz)
add_test(NAME conf_documents_every_option
         COMMAND ${MCGUARD_PACKAGING_DIR}/check-conf $<TARGET_FILE:mcguard>
                 ${CMAKE_SOURCE_DIR}/conf/mcguard.conf)
add_test(NAME k8s_example_is_consistent
         COMMAND ${MCGUARD_PACKAGING_DIR}/k8s/check-example $<TARGET_FILE:mcguard>
                 ${MCGUARD_PACKAGING_DIR}/k8s/mcguard-sidecar.yaml)
set_tests_properties(manpage_lists_every_option conf_documents_every_option
                     k8s_example_is_consistent PROPERTIES LABELS packaging)

# Both packages come from the same installed tree.
set(CPACK_GENERATOR DEB RPM)
set(CPACK_PACKAGE_NAME mcguard)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_VENDOR "mcguard maintainers")
set(CPACK_PACKAGE_CONTACT "mcguard maintainers <maintainers@users.noreply.b-seed-3521cc50.example>")
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "memcached-protocol sidecar proxy with value limits")
set(CPACK_PACKAGE_DESCRIPTION
    "mcguard runs beside an application and speaks memcached's text and meta
protocols. It rejects oversized values as soon as their header is read,
without buffering them, and holds values in flight in a bounded pool of
buffers. Requests are served by an embedded cache or forwarded to existing
memcached servers with ketama consistent hashing.")
set(CPACK_PACKAGING_INSTALL_PREFIX ${CMAKE_INSTALL_PREFIX})
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
# Library dependencies come from the linked sonames (dpkg-shlibdeps), so they
# name exactly the Debian packages of the libraries the binary uses.
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/packaging/conffiles ${MCGUARD_PACKAGING_DIR}/deb/postinst
    ${MCGUARD_PACKAGING_DIR}/deb/prerm ${MCGUARD_PACKAGING_DIR}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

set(CPACK_RPM_FILE_NAME RPM-DEFAULT)
set(CPACK_RPM_PACKAGE_RELEASE 1)
set(CPACK_RPM_PACKAGE_LICENSE "Apache-2.0")
set(CPACK_RPM_PACKAGE_GROUP "System Environment/Daemons")
set(CPACK_RPM_PACKAGE_DESCRIPTION ${CPACK_PACKAGE_DESCRIPTION})
# Installed where the unit file and the configuration expect it, not relocatable.
set(CPACK_RPM_PACKAGE_RELOCATABLE OFF)
# No /usr/lib/.build-id links: the binary is stripped and ships no debug package.
set(CPACK_RPM_SPEC_MORE_DEFINE "%define _build_id_links none")
# The equivalents of the Debian dependencies, by their names on RPM distributions.
set(CPACK_RPM_PACKAGE_REQUIRES "liburing, boost-program-options, spdlog, openssl-libs, xxhash-libs")
set(CPACK_RPM_PACKAGE_REQUIRES_PRE "shadow-utils")
set(CPACK_RPM_PACKAGE_AUTOREQ OFF)
set(CPACK_RPM_PRE_INSTALL_SCRIPT_FILE ${MCGUARD_PACKAGING_DIR}/rpm/pre.sh)
set(CPACK_RPM_POST_INSTALL_SCRIPT_FILE ${MCGUARD_PACKAGING_DIR}/rpm/post.sh)
set(CPACK_RPM_PRE_UNINSTALL_SCRIPT_FILE ${MCGUARD_PACKAGING_DIR}/rpm/preun.sh)
set(CPACK_RPM_POST_UNINSTALL_SCRIPT_FILE ${MCGUARD_PACKAGING_DIR}/rpm/postun.sh)
set(CPACK_RPM_USER_FILELIST
    "%config(noreplace) ${CMAKE_INSTALL_FULL_SYSCONFDIR}/mcguard/mcguard.conf")
# Directories the base system owns are not claimed by the package.
set(CPACK_RPM_EXCLUDE_FROM_AUTO_FILELIST_ADDITION
    /usr/lib/systemd /usr/lib/systemd/system /usr/share/man /usr/share/man/man1)

include(CPack)
