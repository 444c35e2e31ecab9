#!/usr/bin/env python3
"""Transform the SAM template into plain CloudFormation, offline, as `sam validate` does.

Usage: python infra/sam_to_cfn.py infra/template.yaml OUT.json
Local CodeUri paths are replaced by a placeholder S3 location first, so that cfn-lint can
lint the generated template (cfn-lint >= 1.5x no longer runs the SAM transform itself).
"""
import json
import os
import sys

# The translator resolves pseudo parameters (region, partition) from the environment.
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")

from cfnlint.decode import cfn_yaml
from samtranslator.model.exceptions import InvalidDocumentException
from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform


class OfflinePolicyLoader(ManagedPolicyLoader):
    """Resolves AWS managed policy names without calling IAM."""

    def __init__(self):
        super().__init__(None)

    def load(self):
        return {}


def main(src: str, dst: str) -> int:
    tpl = cfn_yaml.load(src)
    for res in tpl.get("Resources", {}).values():
        if res.get("Type") == "AWS::Serverless::Function":
            props = res.setdefault("Properties", {})
            code = props.get("CodeUri")
            if not (isinstance(code, str) and code.startswith("s3://")):
                props["CodeUri"] = "s3://placeholder-bucket/code.zip"
    try:
        out = transform(tpl, {}, OfflinePolicyLoader())
    except InvalidDocumentException as e:
        for cause in e.causes:
            print(f"SAM transform error: {cause.message}", file=sys.stderr)
        return 1
    with open(dst, "w") as f:
        json.dump(out, f, indent=2, default=str)
    print(f"wrote {dst}")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1], sys.argv[2]))
