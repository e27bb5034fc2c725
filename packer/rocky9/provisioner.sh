#!/bin/bash
# Provisioner for Rocky 9: runs as root over SSH after the install.
set -euo pipefail
dnf -y update
dnf -y install cloud-init cloud-utils-growpart
systemctl enable cloud-init
# Leave no machine identity behind in the image.
truncate -s 0 /etc/machine-id
rm -f /etc/ssh/ssh_host_*
dnf clean all
