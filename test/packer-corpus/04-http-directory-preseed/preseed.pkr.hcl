# A Debian-installer style build: the preseed from http_directory, a long boot command
# that clears the kernel line (<bs> runs), special keys and waits.
source "qemu" "preseed" {
  accelerator      = "kvm"
  iso_url          = "../shared/dummy.iso"
  iso_checksum     = "sha256:0122522c6039e6f74c04812072724d6f02cec5e6abeaad9da82ceb9fce53ebf8"
  http_directory   = "../shared/http"
  boot_wait        = "5s"
  boot_command = [
    "<tab><wait>",
    "<bs><bs><bs><bs><bs><bs><bs><bs><bs><bs>",
    "/install.amd/vmlinuz initrd=/install.amd/initrd.gz",
    " auto=true url={{.HTTPIP}}:{{.HTTPPort}}/preseed.cfg",
    " hostname={{ .Name }}",
    "<enter><wait5s>",
  ]
  disk_interface   = "virtio-scsi"
  disk_cache       = "unsafe"
  disk_discard     = "unmap"
  disk_compression = true
  net_device       = "virtio-net"
  format           = "qcow2"
  ssh_username     = "vagrant"
  ssh_password     = "vagrant"
  ssh_timeout      = "60m"
  shutdown_command = "echo vagrant | sudo -S poweroff"
}

build {
  sources = ["source.qemu.preseed"]
  provisioner "shell" {
    execute_command   = "echo vagrant | sudo -S {{ .Vars }} bash {{ .Path }}"
    expect_disconnect = true
    scripts           = ["../shared/scripts/setup.sh", "../shared/scripts/cleanup.sh"]
  }
}
