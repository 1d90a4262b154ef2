# mcguard .rpm %preun: on erase ($1 = 0, not an upgrade), stops the service
# before its files go.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
    systemctl --system stop mcguard.service >/dev/null 2>&1 || :
    systemctl --system disable mcguard.service >/dev/null 2>&1 || :
fi
exit 0
