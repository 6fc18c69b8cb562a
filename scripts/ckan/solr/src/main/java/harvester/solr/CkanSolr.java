package harvester.solr;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;

import org.apache.solr.embedded.JettyConfig;
import org.apache.solr.embedded.JettySolrRunner;

/**
 * Runs a real Solr 9 HTTP server (Jetty, on 127.0.0.1 only) from the jars that Maven brought,
 * for the real CKAN in the test suite.
 *
 * Usage: java -cp 'lib/*:classes' harvester.solr.CkanSolr SOLR_HOME PORT [PORTFILE]
 *
 * SOLR_HOME holds solr.xml and one core folder per core (scripts/ckan/start writes them: the
 * "ckan" core carries CKAN's own schema.xml). Port 0 takes a free port. Once every core has
 * loaded, the port is printed as "SOLR_PORT=NNNN" and, when given, written to PORTFILE.
 * Stops cleanly on SIGTERM.
 */
public final class CkanSolr {
  public static void main(String[] args) throws Exception {
    if (args.length < 2) {
      System.err.println("usage: CkanSolr SOLR_HOME PORT [PORTFILE]");
      System.exit(2);
    }
    String home = Path.of(args[0]).toAbsolutePath().toString();
    int port = Integer.parseInt(args[1]);
    JettyConfig config =
        JettyConfig.builder()
            .setPort(port)
            .setContext("/solr")
            .stopAtShutdown(false)
            .useOnlyHttp1(true)
            .waitForLoadingCoresToFinish(120_000L)
            .build();
    JettySolrRunner solr = new JettySolrRunner(home, new Properties(), config);
    solr.start();
    var failures = solr.getCoreContainer().getCoreInitFailures();
    if (!failures.isEmpty() || !solr.isRunning()) {
      failures.forEach(
          (core, failure) -> {
            Throwable cause = failure.exception;
            while (cause.getCause() != null) cause = cause.getCause();
            System.err.println("Solr core " + core + " failed to load: " + cause);
          });
      if (!solr.isRunning()) System.err.println("Solr's Jetty is not running");
      solr.stop();
      System.exit(1);
    }
    int actual = solr.getLocalPort();
    System.out.println("SOLR_PORT=" + actual);
    System.out.flush();
    if (args.length > 2) {
      Path tmp = Path.of(args[2] + ".tmp");
      Files.writeString(tmp, Integer.toString(actual) + "\n");
      Files.move(tmp, Path.of(args[2]), java.nio.file.StandardCopyOption.ATOMIC_MOVE);
    }
    CountDownLatch done = new CountDownLatch(1);
    Runtime.getRuntime()
        .addShutdownHook(
            new Thread(
                () -> {
                  try {
                    solr.stop();
                  } catch (Exception e) {
                    e.printStackTrace();
                  }
                  done.countDown();
                }));
    done.await();
  }
}
