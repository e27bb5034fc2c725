# Variables set by an *.auto.pkrvars.hcl file beside the template (loaded with the folder),
# one of them required (no default).
variable "iso_name" {
  type = string
}

variable "cpus" {
  type    = number
  default = 1
}

variable "ssh_password" {
  type      = string
  sensitive = true
}

source "qemu" "pkrvars" {
  iso_url          = "../shared/${var.iso_name}"
  iso_checksum     = "file:../shared/SHA256SUMS"
  cpus             = var.cpus
  ssh_username     = "root"
  ssh_password     = var.ssh_password
  shutdown_command = "poweroff"
}

build {
  sources = ["source.qemu.pkrvars"]
  provisioner "shell" {
    script = "../shared/scripts/setup.sh"
  }
}
