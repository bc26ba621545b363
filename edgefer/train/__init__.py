"""Training: configuration, backbone registry, model, input path, augmentation, distillation, run folders."""
