# The rest of the qemu source options the corpus templates set: iso_urls with a local
# mirror first, extra disks, CPU topology and model, a VNC address,
# a local block, build.name in a shell-local provisioner.
local "build_date" {
  expression = formatdate("YYYYMMDD", timestamp())
}

source "qemu" "options" {
  iso_urls               = ["../shared/dummy.iso", "https://mirror.invalid/dummy.iso"]
  iso_checksum           = "sha256:0122522c6039e6f74c04812072724d6f02cec5e6abeaad9da82ceb9fce53ebf8"
  qemu_binary            = "qemu-system-x86_64"
  accelerator            = "tcg"
  cpu_model              = "max"
  cpus                   = 4
  sockets                = 1
  cores                  = 2
  threads                = 2
  memory                 = 2 * 1024
  disk_size              = "20G"
  disk_additional_size   = ["1G", "2G"]
  disk_detect_zeroes     = "unmap"
  disk_discard           = "unmap"
  vnc_bind_address       = "127.0.0.1"
  vnc_port_min           = 5901
  vnc_port_max           = 5910
  host_port_min          = 2300
  host_port_max          = 2400
  http_port_min          = 8100
  http_port_max          = 8200
  headless               = true
  vm_name                = "options-${local.build_date}.qcow2"
  ssh_username           = "root"
  ssh_password           = "pw-7Kq"
  ssh_port               = 22
  ssh_timeout            = "30m"
  ssh_handshake_attempts = 100
  pause_before_connecting = "5s"
  shutdown_command       = "shutdown -P now"
  shutdown_timeout       = "10m"
}

build {
  sources = ["source.qemu.options"]
  provisioner "shell" {
    inline            = ["reboot"]
    expect_disconnect = true
    pause_after       = "5s"
  }
  provisioner "shell" {
    inline           = ["echo after reboot"]
    pause_before     = "10s"
    max_retries      = 3
    valid_exit_codes = [0, 143]
  }
  provisioner "shell-local" {
    environment_vars = ["BUILD=${build.name}"]
    inline           = ["echo $BUILD"]
  }
}
