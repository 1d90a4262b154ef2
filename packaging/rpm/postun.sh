# mcguard .rpm %postun: makes systemd forget a removed unit; on an upgrade
# ($1 >= 1) restarts a running service onto the new binary. The `mcguard`
# user is kept, as is usual for system users.
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null 2>&1 || :
    if [ "$1" -ge 1 ]; then
        systemctl --system try-restart mcguard.service >/dev/null 2>&1 || :
    fi
fi
exit 0
