# dspace-preview instance image: Amazon Linux 2023 with Docker, Compose v2, buildx, the
# CloudWatch and SSM agents, clones of DSpace/DSpace and DSpace/dspace-angular, the
# published images of the maintained branches and warm build caches, plus the boot and
# health scripts under /opt/dspace-preview. See ../README.md.
#
#   packer plugins install github.com/hashicorp/amazon   # Packer >= 1.10 (1.6-1.9 bundle it)
#   packer build ami/packer                              # both arches
#   packer build -only='amazon-ebs.x86_64' ami/packer    # one arch
#
# ami/tests/packer_build.sh runs this file's provisioner and post-processor blocks for real,
# on null sources: keep it `packer fmt`-formatted (the test finds the blocks by indentation).

locals {
  stamp = formatdate("YYYYMMDDhhmmss", timestamp())
}

source "amazon-ebs" "al2023" {
  region                      = var.region
  subnet_id                   = var.subnet_id
  associate_public_ip_address = true
  ssh_username                = "ec2-user"
  # The build instance's key leaves the image with it: previews have no SSH at all.
  ssh_clear_authorized_keys = true

  # No instance profile: the build needs no AWS access from the instance. (IMDSv2-only and
  # hop limit 1 are set per preview by the launch step; `metadata_options` here would need
  # a newer amazon plugin than Packer 1.6 bundles, and would break `packer validate` there.)

  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = var.volume_size
    volume_type           = "gp3"
    throughput            = 250
    iops                  = 3000
    delete_on_termination = true
  }

  tags = {
    Name     = "dspace-preview"
    Project  = "dspace-preview"
    Branches = join(" ", var.branches)
    Built    = local.stamp
  }
}

build {
  source "amazon-ebs.al2023" {
    name          = "x86_64"
    instance_type = var.instance_type_x86_64
    ami_name      = "dspace-preview-x86_64-${local.stamp}"
    source_ami_filter {
      filters = {
        name                = "al2023-ami-2023.*-kernel-*-x86_64"
        architecture        = "x86_64"
        virtualization-type = "hvm"
        root-device-type    = "ebs"
      }
      owners      = ["amazon"]
      most_recent = true
    }
  }

  source "amazon-ebs.al2023" {
    name          = "arm64"
    instance_type = var.instance_type_arm64
    ami_name      = "dspace-preview-arm64-${local.stamp}"
    source_ami_filter {
      filters = {
        name                = "al2023-ami-2023.*-kernel-*-arm64"
        architecture        = "arm64"
        virtualization-type = "hvm"
        root-device-type    = "ebs"
      }
      owners      = ["amazon"]
      most_recent = true
    }
  }

  # The boot, health and compose files, installed to /opt/dspace-preview by install.sh.
  provisioner "file" {
    source      = "${path.root}/../files"
    destination = "/tmp/dspace-preview-files"
  }

  # The helpers every script below sources (run/write, the dry run; Dockerfile parsing).
  provisioner "file" {
    source      = "${path.root}/scripts/common.sh"
    destination = "/tmp/dspace-preview-common.sh"
  }

  provisioner "shell" {
    # {{ .Vars }} is the only way environment_vars reach a script (Packer's default is
    # `chmod +x {{.Path}}; {{.Vars}} {{.Path}}`); `sudo -E` alone would pass none of them.
    execute_command = "sudo -E env {{ .Vars }} bash '{{ .Path }}'"
    environment_vars = [
      "COMPOSE_VERSION=${var.compose_version}",
      "BUILDX_VERSION=${var.buildx_version}",
      "CADDY_VERSION=${var.caddy_version}",
      "BRANCHES=${join(" ", var.branches)}",
      "PROXY_IMAGE=${var.proxy_image}",
      "DOCKERHUB_USERNAME=${var.dockerhub_username}",
      "DOCKERHUB_TOKEN=${var.dockerhub_token}",
    ]
    scripts = [
      "${path.root}/scripts/base.sh",
      "${path.root}/scripts/docker.sh",
      "${path.root}/scripts/caddy.sh",
      "${path.root}/scripts/install.sh",
      "${path.root}/scripts/sources.sh",
      "${path.root}/scripts/images.sh",
      "${path.root}/scripts/warm-caches.sh",
      "${path.root}/scripts/harden.sh",
    ]
  }

  # Publish the AMI id where the launch step reads it: a post-processor, so it runs only
  # once the AMI exists, on the machine running Packer (needs the AWS CLI and jq there).
  # The arch is source.name (x86_64, arm64): PACKER_BUILD_NAME and the manifest's "name"
  # are the source block's label, al2023, for both.
  post-processors {
    post-processor "manifest" {
      output = "${path.root}/manifest.json"
      custom_data = {
        arch = source.name
      }
    }
    post-processor "shell-local" {
      environment_vars = [
        "MANIFEST=${path.root}/manifest.json",
        "ARCH=${source.name}",
        "SSM_PARAMETER=${var.ssm_parameter}",
        "DEFAULT_ARCH=${var.default_arch}",
        "AWS_REGION=${var.region}",
      ]
      script = "${path.root}/scripts/publish-ami-id.sh"
    }
  }
}
