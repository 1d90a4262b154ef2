# mcguard .rpm %pre: creates the `mcguard` system user and group the service
# runs as, unless they exist.
getent group mcguard >/dev/null || groupadd -r mcguard
getent passwd mcguard >/dev/null || \
    useradd -r -g mcguard -d / -s /sbin/nologin -c "mcguard memcached proxy" mcguard
exit 0
