# A cloud image instead of an installer: disk_image on a backing file, cloud-init's NoCloud
# seed as a CD (cd_files with a glob, cd_label cidata, plus cd_content), qemu_img_args.
variable "series" {
  type    = string
  default = "noble"
}

source "qemu" "cloudimg" {
  disk_image       = true
  use_backing_file = true
  iso_url          = "../shared/dummy.iso"
  iso_checksum     = "file:../shared/SHA256SUMS"
  disk_size        = "4G"
  format           = "qcow2"
  cd_files         = ["../shared/cloud-init/*"]
  cd_content = {
    "vendor-data" = "#cloud-config\n"
  }
  cd_label = "cidata"
  qemu_img_args {
    create = ["-F", "qcow2"]
  }
  output_directory       = "output-${var.series}"
  vm_name                = "ubuntu-${var.series}.img"
  ssh_username           = "ubuntu"
  ssh_password           = "pw-7Kq"
  ssh_handshake_attempts = 50
  ssh_timeout            = "15m"
  shutdown_command       = "sudo -S shutdown -P now"
}

build {
  sources = ["source.qemu.cloudimg"]
  provisioner "shell" {
    execute_command = "sudo -S sh -c '{{ .Vars }} {{ .Path }}'"
    scripts         = ["../shared/scripts/setup.sh"]
  }
  provisioner "file" {
    source      = "../shared/scripts/cleanup.sh"
    destination = "/tmp/cleanup.sh"
  }
}
