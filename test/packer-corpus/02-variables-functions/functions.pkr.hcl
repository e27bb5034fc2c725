# Typed variables (with validation, sensitive, env() defaults, arithmetic) and the functions
# real templates use in locals: lookup, concat, join, split, format, lower/upper, replace,
# trimspace, coalesce, merge, length, substr, abspath, basename, dirname, sha256,
# base64encode, formatdate/timestamp, for expressions, conditionals and heredocs.
packer {
  required_version = ">= 1.7.0"
  required_plugins {
    qemu = {
      version = "~> 1.0"
      source  = "github.com/hashicorp/qemu"
    }
  }
}

variable "arch" {
  type    = string
  default = "amd64"
  validation {
    condition     = contains(["amd64", "arm64"], var.arch)
    error_message = "The arch must be amd64 or arm64."
  }
}

variable "disk_mib" {
  type    = number
  default = 8 * 1024
}

variable "headless" {
  type    = bool
  default = true
}

variable "proxy" {
  type    = string
  default = env("CORPUS_PROXY_UNSET")
}

variable "password" {
  type      = string
  default   = "pw-7Kq"
  sensitive = true
}

variable "extra_args" {
  type    = list(string)
  default = ["-device", "virtio-rng-pci"]
}

variable "machine" {
  type = map(string)
  default = {
    amd64 = "pc"
    arm64 = "virt"
  }
}

locals {
  qemu_arch   = { amd64 = "x86_64", arm64 = "aarch64" }
  binary      = "qemu-system-${lookup(local.qemu_arch, var.arch, "x86_64")}"
  proxy_env   = var.proxy != "" ? ["http_proxy=${var.proxy}"] : []
  env_vars    = concat(local.proxy_env, ["ARCH=${upper(var.arch)}", "NAME=${lower("CORPUS")}"])
  iso         = abspath("${path.root}/../shared/dummy.iso")
  iso_name    = basename(local.iso)
  iso_dir     = dirname(local.iso)
  name        = format("corpus-%s-%03d", replace(trimspace("  fn  "), "f", "F"), length(var.extra_args))
  tag         = substr(sha256(local.name), 0, 8)
  built       = formatdate("YYYY-MM-DD", timestamp())
  first_word  = split(" ", "alpha beta")[0]
  joined      = join(",", [for a in var.extra_args : upper(a)])
  merged      = merge({ a = "1" }, { b = "2" })
  fallback    = coalesce("", "used")
  encoded     = base64encode("pw-7Kq")
  description = <<-EOT
    Built ${local.built} as ${local.name}
    EOT
}

source "qemu" "functions" {
  qemu_binary      = local.binary
  machine_type     = lookup(var.machine, var.arch, "pc")
  iso_url          = "${local.iso_dir}/${local.iso_name}"
  iso_checksum     = "file:${path.root}/../shared/SHA256SUMS"
  disk_size        = "${var.disk_mib}M"
  headless         = var.headless
  memory           = var.arch == "arm64" ? 2048 : 1024
  vm_name          = "${local.name}-${local.tag}.qcow2"
  qemuargs         = [var.extra_args]
  ssh_username     = "root"
  ssh_password     = var.password
  shutdown_command = "poweroff"
}

build {
  description = local.description
  sources     = ["source.qemu.functions"]

  provisioner "shell" {
    environment_vars = concat(local.env_vars, ["FIRST=${local.first_word}", "JOINED=${local.joined}", "FALLBACK=${local.fallback}", "ENC=${local.encoded}", "B=${local.merged["b"]}"])
    inline           = ["echo ok"]
  }
}
