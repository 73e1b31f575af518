// Draws a QR code on a canvas, here in the browser: the link holds the key, so it
// must never be sent anywhere to be turned into an image.
import { encode } from "../vendor/uqr/index.mjs";

export function drawQr(canvas, text) {
  const { data, size } = encode(text, { ecc: "M", border: 2 });
  const scale = Math.max(1, Math.floor(canvas.width / size));
  canvas.width = canvas.height = size * scale;
  const context = canvas.getContext("2d");
  context.fillStyle = "#ffffff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.fillStyle = "#000000";
  data.forEach((row, y) =>
    row.forEach((dark, x) => {
      if (dark) context.fillRect(x * scale, y * scale, scale, scale);
    }),
  );
}
