# Inputs of the dspace-preview image recipe. Override with -var or a *.pkrvars.hcl file.

variable "region" {
  type        = string
  default     = "us-east-1"
  description = "Region the AMI is built in and its id published to."
}

variable "ssm_parameter" {
  type        = string
  default     = "/dspace-preview/ami-id"
  description = "SSM parameter the launch step reads: the id of the default_arch AMI. Every arch is also published to <ssm_parameter>-<arch>."
}

variable "default_arch" {
  type        = string
  default     = "x86_64"
  description = "Architecture whose AMI id goes to ssm_parameter itself."
}

variable "instance_type_x86_64" {
  type    = string
  default = "t3.large"
}

variable "instance_type_arm64" {
  type    = string
  default = "t4g.large"
}

variable "volume_size" {
  type        = number
  default     = 60
  description = "Root volume (GB): four branches of images, build caches and the clones take about 35 GB."
}

variable "subnet_id" {
  type        = string
  default     = ""
  description = "Subnet for the build instance (empty: the default VPC). Needs internet access."
}

variable "branches" {
  type        = list(string)
  default     = ["main", "dspace-10_x", "dspace-9_x", "dspace-8_x"]
  description = "DSpace branches whose sources, images and caches the AMI holds (main and the maintained dspace-N_x)."
}

variable "compose_version" {
  type        = string
  default     = "2.39.2"
  description = "Docker Compose v2 plugin (at least 2.24.4: the compose layer uses !reset and !override)."
}

variable "buildx_version" {
  type    = string
  default = "0.26.1"
}

variable "caddy_version" {
  type        = string
  default     = "2.10.2"
  description = "Caddy release (GitHub, SHA-512 checked): the TLS proxy of previews with a public name (HTTPS mode)."
}

variable "proxy_image" {
  type        = string
  default     = "docker.io/library/nginx:stable-alpine"
  description = "Reverse proxy image of every preview (port 80)."
}

variable "dockerhub_username" {
  type        = string
  default     = ""
  description = "Optional Docker Hub account for the pre-pulls (anonymous pulls are rate limited). Logged out before the image is taken."
}

variable "dockerhub_token" {
  type      = string
  default   = ""
  sensitive = true
}
