"""Making an environment serve its pin: the Bento, the image, the manifests, the targets and the deploy records."""
