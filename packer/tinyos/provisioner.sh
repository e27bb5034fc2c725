#!/bin/sh
# Provisioner for packer/tinyos: runs as root over SSH after the install.
set -eu
echo "provisioning tinyos (build ${PACKER_BUILD_NAME:-?})"
echo "image=tinyos" > /etc/tsimg-provisioned
sync
