#!/bin/sh
# Provisioner for the tinyos example: runs as root over SSH after the install.
set -eu
echo "provisioning tinyos ${IMAGE_VERSION:-unknown} (build ${PACKER_BUILD_NAME:-?})"
cat > /etc/tsimg-provisioned <<STAMP
image=tinyos
version=${IMAGE_VERSION:-unknown}
STAMP
echo "motd is: $(cat /etc/motd)"
sync
