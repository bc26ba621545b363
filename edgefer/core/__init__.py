"""What every stage stands on and none owns: atomic files and the file inventory (`fileio`), progress lines
(`progress`), plot styling (`plotting`), the Keras import (`keras_env`), model back-ends that open a .keras, .tflite or
.onnx file the same way (`backends`), the fp32 TFLite conversion a teacher uses (`conversion`), compute counting
(`compute`), scoring (`evaluation`) and the run folder's record (`run_folder`). Nothing here imports a stage."""
