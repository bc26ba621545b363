// edgefer's classifier in the browser: MediaPipe's FaceDetector finds the faces, each face is cropped square as
// edgefer's predictor does (FER2013's framing: the box grown by 7.6% per side, centre lifted by 6.6% of the box) and
// MediaPipe's ImageClassifier reads its expression from the model, whose
// standard TFLite metadata gives the labels by name. Files beside this page (see README.md):
//   model.tflite          an edgefer model (a packaged one or `edgefer export --int8`: RGB input, metadata inside)
//   face_detector.tflite  BlazeFace short-range (edgefer/assets/face_detection_short_range.tflite, Apache-2.0)
//   node_modules/         `npm install` (MediaPipe Tasks for Web, with its WebAssembly); nothing from a CDN.
// ?image=URL classifies that image at load; &report=PATH also POSTs the result (JSON) to this page's server there
// (what tests/export/test_web_demo.py does); the result is written to <body data-result> too.
import { FaceDetector, FilesetResolver, ImageClassifier } from "./node_modules/@mediapipe/tasks-vision/vision_bundle.mjs";

const MARGIN = 0.076; // edgefer.predictor.FACE_MARGIN
const LIFT = 0.066; // edgefer.predictor.FACE_LIFT
const status = document.getElementById("status");
const canvas = document.getElementById("canvas");
const context = canvas.getContext("2d");
const list = document.getElementById("faces");
const crop = document.createElement("canvas");

const fileset = await FilesetResolver.forVisionTasks("./node_modules/@mediapipe/tasks-vision/wasm");
const detector = await FaceDetector.createFromOptions(fileset, {
  baseOptions: { modelAssetPath: "./face_detector.tflite" }, runningMode: "IMAGE", minDetectionConfidence: 0.5,
});
const classifier = await ImageClassifier.createFromOptions(fileset, {
  baseOptions: { modelAssetPath: "./model.tflite" }, runningMode: "IMAGE", maxResults: 3,
});
status.textContent = "ready";

function squareAround(box, width, height) {
  const longest = Math.max(box.width, box.height);
  const side = longest * (1 + 2 * MARGIN);
  const x = Math.round(box.originX + box.width / 2 - side / 2);
  const y = Math.round(box.originY + box.height / 2 - LIFT * longest - side / 2);
  return { x, y, side: Math.max(1, Math.round(side)) };
}

function analyse(source, width, height) {
  canvas.width = width;
  canvas.height = height;
  context.drawImage(source, 0, 0, width, height);
  const faces = detector.detect(canvas).detections.map((detection) => {
    const box = detection.boundingBox;
    const { x, y, side } = squareAround(box, width, height);
    crop.width = crop.height = side;
    const cropContext = crop.getContext("2d");
    cropContext.fillStyle = "black";
    cropContext.fillRect(0, 0, side, side);
    cropContext.drawImage(canvas, x, y, side, side, 0, 0, side, side);
    const top = classifier.classify(crop).classifications[0].categories;
    return { box: [box.originX, box.originY, box.width, box.height], label: top[0].categoryName,
             score: top[0].score, others: top.slice(1).map((c) => `${c.categoryName} ${(100 * c.score).toFixed(0)}%`) };
  });
  context.lineWidth = Math.max(2, width / 200);
  context.font = `${Math.max(14, width / 30)}px system-ui`;
  list.replaceChildren();
  for (const face of faces) {
    const [x, y, w, h] = face.box;
    context.strokeStyle = context.fillStyle = "#ffc400";
    context.strokeRect(x, y, w, h);
    context.fillText(`${face.label} ${(100 * face.score).toFixed(0)}%`, x, Math.max(16, y - 6));
    const item = document.createElement("li");
    item.textContent = `${face.label} ${(100 * face.score).toFixed(1)}% (${face.others.join(", ")})`;
    list.append(item);
  }
  if (!faces.length) list.innerHTML = "<li>no face found</li>";
  document.body.dataset.result = JSON.stringify(faces.map((f) => ({ label: f.label, score: f.score, box: f.box })));
  return faces;
}

async function fromUrl(url) {
  const image = new Image();
  image.src = url;
  await image.decode();
  return analyse(image, image.naturalWidth, image.naturalHeight);
}

document.getElementById("file").addEventListener("change", (event) => {
  const file = event.target.files[0];
  if (file) fromUrl(URL.createObjectURL(file));
});

document.getElementById("webcam").addEventListener("click", async () => {
  const video = document.createElement("video");
  video.srcObject = await navigator.mediaDevices.getUserMedia({ video: true });
  await video.play();
  const loop = () => {
    analyse(video, video.videoWidth, video.videoHeight);
    requestAnimationFrame(loop);
  };
  loop();
});

const query = new URLSearchParams(location.search);
if (query.get("image")) {
  let result;
  try {
    result = { faces: await fromUrl(query.get("image")) };
  } catch (error) {
    result = { error: String(error) };
  }
  status.textContent = result.error ? `failed: ${result.error}` : "done";
  document.body.dataset.done = "yes";
  if (query.get("report")) {
    await fetch(query.get("report"), { method: "POST", body: JSON.stringify(result) });
  }
}
