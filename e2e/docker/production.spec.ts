import { test } from "@playwright/test";

test.skip("production override (being written)", () => {});
