package dev.i2vgen.cli.serve;

import dev.i2vgen.cli.LoadedPipeline;
import dev.i2vgen.cli.ModelCheckpoint;
import dev.i2vgen.io.reference.ReferenceCase;
import dev.i2vgen.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The web page in a real headless Chromium (Debian's {@code chromium} and {@code chromium-driver}, which .ci/run
 * installs; the test skips, saying why, where they are missing): upload the test image, generate on the demo model,
 * see the progress bar move, and the video element play a video of non-zero duration; then, on a server with a token,
 * enter the token and do it again. Leaves a screenshot in
 * {@code target/serve-page.png}.
 */
class ServePageBrowserTest {
    private static final Path CHROMIUM = Path.of(System.getProperty("i2vgen.chromium", "/usr/bin/chromium"));
    private static final Path CHROMEDRIVER = Path.of(System.getProperty("i2vgen.chromedriver", "/usr/bin/chromedriver"));

    @Test
    void uploadGenerateWatchTheProgressAndPlayTheVideo(@TempDir Path tmp) throws Exception {
        assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER), "no headless browser: " + CHROMIUM + " and "
                + CHROMEDRIVER + " are needed (Debian: apt-get install chromium chromium-driver, as .ci/run does)");
        Path image;
        try (ReferenceCase tiny = ReferenceCase.bundled("tiny")) { image = Files.copy(tiny.inputImage(), tmp.resolve("photo.png")); }
        WebDriver browser = browser(tmp.resolve("chromium-profile"));
        try {
            StepGate gate = new StepGate();
            try (VideoServer server = demoServer(tmp.resolve("videos"), null, gate)) {
                browser.get(server.url().toString());
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofMinutes(5));
                wait.until(d -> d.findElement(By.id("generate")).isEnabled());
                assertEquals("32", browser.findElement(By.id("field-height")).getDomProperty("value"), "the model's defaults");
                chooseImageAndFrames(browser, wait, image);
                browser.findElement(By.id("random-seed")).click();
                assertTrue(browser.findElement(By.id("field-seed")).getDomProperty("value").matches("\\d+"), "a random seed");

                gate.holdNext();
                browser.findElement(By.id("generate")).click();
                gate.awaitHeld();
                wait.until(d -> progress(d) == 1);   // the bar moved with the job's first step, while it is held there
                takeScreenshot(browser, "serve-page-progress.png");
                gate.release();

                awaitPlayingVideo(browser, wait);
                assertEquals(3, progress(browser), "all steps done");
                assertTrue(browser.findElement(By.id("download-mp4")).getDomAttribute("href").endsWith("/content"), "served by URL, with ranges");
                wait.until(d -> d.findElements(By.cssSelector("#jobs li .badge.succeeded")).size() == 1);
                takeScreenshot(browser, "serve-page.png");
            }

            // A server with a token: the page asks for it, then sends it with every request (the video comes as a blob)
            try (VideoServer server = demoServer(tmp.resolve("videos-token"), "page-token", JobHooks.NONE)) {
                browser.get(server.url().toString());
                WebDriverWait wait = new WebDriverWait(browser, Duration.ofMinutes(5));
                wait.until(d -> d.findElement(By.id("token")).isDisplayed());
                browser.findElement(By.id("token")).sendKeys("page-token");
                browser.findElement(By.id("token-save")).click();
                wait.until(d -> d.findElement(By.id("generate")).isEnabled());
                chooseImageAndFrames(browser, wait, image);
                browser.findElement(By.id("generate")).click();
                awaitPlayingVideo(browser, wait);
                assertTrue(browser.findElement(By.id("video")).getDomProperty("src").startsWith("blob:"));
            }
        } finally {
            browser.quit();
        }
    }

    /** A server of the built-in demo model (the page's defaults are its small sizes). */
    private static VideoServer demoServer(Path videos, String token, JobHooks hooks) throws Exception {
        ModelCheckpoint demo = ModelCheckpoint.open(null);
        LoadedPipeline pipeline = demo.load("jvm", DType.F32);
        ServerSettings settings = new ServerSettings("127.0.0.1", 0, token, videos, Duration.ofHours(1), 2, new JobLimits(1 << 20, 1 << 20, 16, 10));
        return VideoServer.start(settings, demo, pipeline, "F32", hooks);
    }

    /** The image chosen through the file input (its preview appears) and 8 frames instead of the demo's 4. */
    private static void chooseImageAndFrames(WebDriver browser, WebDriverWait wait, Path image) {
        browser.findElement(By.id("image")).sendKeys(image.toString());
        wait.until(d -> d.findElement(By.id("preview")).isDisplayed());
        browser.findElement(By.id("field-frames")).clear();
        browser.findElement(By.id("field-frames")).sendKeys("8");
    }

    /** The finished video in the page: decoded by Chromium, 8 frames at 16 fps long, and played. */
    private static void awaitPlayingVideo(WebDriver browser, WebDriverWait wait) {
        JavascriptExecutor js = (JavascriptExecutor) browser;
        wait.until(d -> Boolean.TRUE.equals(js.executeScript(
                "const v = document.getElementById('video'); return !v.hidden && (v.error != null || (v.readyState >= 2 && v.duration > 0));")));
        Object error = js.executeScript("const e = document.getElementById('video').error; return e && (e.code + ': ' + e.message);");
        assertEquals(null, error, "Chromium could not play the MP4");
        double duration = ((Number) js.executeScript("return document.getElementById('video').duration;")).doubleValue();
        assertEquals(8.0 / 16, duration, 0.01, "8 frames at 16 fps");
        js.executeScript("document.getElementById('video').play();");
        wait.until(d -> Boolean.TRUE.equals(js.executeScript(
                "const p = document.getElementById('video').played; return p.length > 0 && p.end(0) > 0;")));
    }

    private static long progress(WebDriver d) {
        return ((Number) ((JavascriptExecutor) d).executeScript("return document.getElementById('progress').value;")).longValue();
    }

    /** Headless Chromium through the system's chromedriver (never a downloaded one), without background connections. */
    private static WebDriver browser(Path profile) {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments(List.of("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
                "--autoplay-policy=no-user-gesture-required", "--window-size=1280,900", "--user-data-dir=" + profile));
        ChromeDriverService service = new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile())
                .usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }

    /** A screenshot as a test artifact in the module's target folder. */
    private static void takeScreenshot(WebDriver browser, String name) throws Exception {
        File shot = ((TakesScreenshot) browser).getScreenshotAs(OutputType.FILE);
        Path target = Path.of("target");
        Files.createDirectories(target);
        Files.copy(shot.toPath(), target.resolve(name), StandardCopyOption.REPLACE_EXISTING);
    }
}
