# mcguard .rpm %post: makes a running systemd see the unit. The service is not
# enabled or started: port 11211 is memcached's, so the administrator chooses
# (`systemctl enable --now mcguard`).
if [ -d /run/systemd/system ]; then
    systemctl --system daemon-reload >/dev/null 2>&1 || :
fi
exit 0
