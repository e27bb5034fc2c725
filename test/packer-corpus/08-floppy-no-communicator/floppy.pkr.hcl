# A Windows-style unattended install: the answer file on a floppy, no communicator (the
# installer powers the VM off), a SATA disk, an e1000 NIC, and no checksum.
source "qemu" "floppy" {
  iso_url          = "../shared/dummy.iso"
  iso_checksum     = "none"
  floppy_files     = ["../shared/floppy/Autounattend.xml"]
  floppy_label     = "flop"
  communicator     = "none"
  boot_command     = ["<return>"]
  boot_wait        = "2s"
  disk_interface   = "sata"
  net_device       = "e1000"
  format           = "raw"
  shutdown_timeout = "1h"
}

build {
  sources = ["source.qemu.floppy"]
}
