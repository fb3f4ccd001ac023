import busboy from "busboy";
import type { Context } from "koa";
import { AppError, badRequest, payloadTooLarge } from "../errors.js";

/** The file passed `maxFileBytes`; its own code, so a form can word it for what it takes. */
export const fileTooLarge = (maxFileBytes: number) =>
  new AppError(413, "file_too_large", `That file is larger than ${Math.round(maxFileBytes / 1024 / 1024)} MB.`);

export type Upload = { fields: Record<string, string>; file?: { field: string; data: Buffer; mimeType: string } };

/**
 * Reads a multipart form with one file, refusing (413) as soon as the file passes `maxFileBytes`
 * so an oversized upload is never held in memory whole.
 */
export function readUpload(ctx: Context, maxFileBytes: number): Promise<Upload> {
  if (!ctx.is("multipart")) return Promise.reject(badRequest("not_multipart", "Send the form as multipart/form-data."));
  return new Promise((resolve, reject) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: ctx.req.headers,
        limits: { files: 1, fileSize: maxFileBytes, fields: 10, fieldSize: 2048, parts: 12 },
      });
    } catch {
      reject(badRequest("bad_multipart", "That upload could not be read."));
      return;
    }
    const upload: Upload = { fields: {} };
    let failed: AppError | undefined;
    const fail = (err: AppError) => {
      failed ??= err;
      ctx.req.unpipe(parser);
      ctx.req.resume();
      reject(err);
    };
    parser.on("field", (name, value) => (upload.fields[name] = value));
    parser.on("file", (field, stream, info) => {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("limit", () => fail(fileTooLarge(maxFileBytes)));
      stream.on("close", () => {
        if (!failed && chunks.length > 0) upload.file = { field, data: Buffer.concat(chunks), mimeType: info.mimeType };
      });
    });
    parser.on("filesLimit", () => fail(payloadTooLarge("Send one file at a time.")));
    parser.on("partsLimit", () => fail(payloadTooLarge("That form has too many parts.")));
    parser.on("error", () => fail(badRequest("bad_multipart", "That upload could not be read.")));
    parser.on("close", () => {
      if (!failed) resolve(upload);
    });
    ctx.req.pipe(parser);
  });
}
