terraform {
  # 1.9 is the first release whose variable validations may refer to other variables.
  required_version = "~> 1.9"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # 5.100 is the release CI validates against (scripts/validate-terraform); nothing used here is
      # deprecated in 5.x or removed in 6.x.
      version = ">= 5.100, < 7.0"
    }
  }
}
