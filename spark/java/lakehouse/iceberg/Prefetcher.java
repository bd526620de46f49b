/*
 * Fetches ahead the small files a Spark task is going to open, on one pool per JVM, within one memory
 * bound per JVM.
 *
 * Iceberg's Spark reader asks its FileIO for every file of its task before opening the first one: each
 * such small file is queued for its task, and at most `whole-file.prefetch-threads` of them are fetched
 * ahead at once, as long as the bytes held stay within `whole-file.prefetch-max-bytes`. The bytes of a file
 * count against the bound from the moment its fetch starts until both its fetch has ended and the file has
 * been opened, or its task has ended (success, failure, kill, cancelled query: Spark's task completion
 * listener). A file that is never opened is thus given back when its task ends, never later.
 *
 * The pool is created once per JVM (daemon threads): Thrift sessions, which each get their own catalog and
 * FileIO, share it, so nothing accumulates as sessions come and go. Outside a Spark task (the driver
 * planning a query) nothing is fetched ahead.
 */
package lakehouse.iceberg;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.spark.TaskContext;
import org.apache.spark.util.TaskCompletionListener;

public final class Prefetcher {
  private static final Object BUDGET = new Object();
  private static long reserved = 0;
  private static long peakReserved = 0;
  private static ExecutorService pool;
  private static final Map<Long, TaskFiles> TASKS = new ConcurrentHashMap<>();
  private static final AtomicLong WHOLE_READS = new AtomicLong();
  private static final AtomicLong PREFETCHED_READS = new AtomicLong();

  private Prefetcher() {}

  /** Bytes held now by files fetched ahead (fetching, or fetched and not yet opened). */
  public static long reservedBytes() {
    synchronized (BUDGET) {
      return reserved;
    }
  }

  /** The most bytes held at once since the last `resetStatistics()`. */
  public static long peakReservedBytes() {
    synchronized (BUDGET) {
      return peakReserved;
    }
  }

  /** Small files read whole since the last reset, and how many of them had been fetched ahead. */
  public static long wholeFileReads() {
    return WHOLE_READS.get();
  }

  public static long prefetchedReads() {
    return PREFETCHED_READS.get();
  }

  /** Tasks that still hold files fetched ahead (0 once every task has ended). */
  public static int openTasks() {
    return TASKS.size();
  }

  public static void resetStatistics() {
    synchronized (BUDGET) {
      peakReserved = reserved;
    }
    WHOLE_READS.set(0);
    PREFETCHED_READS.set(0);
  }

  static void offer(WholeFile file, int threads, long maxBytes) {
    if (threads <= 0 || maxBytes <= 0 || file.getLength() > maxBytes) {
      return;
    }
    TaskContext context = TaskContext.get();
    if (context == null || context.isCompleted() || context.isInterrupted()) {
      return;
    }
    long id = context.taskAttemptId();
    TaskFiles files = TASKS.get(id);
    if (files == null) {
      files = new TaskFiles(threads, maxBytes);
      TASKS.put(id, files);
      // Runs when the task ends in any way; at once if it already has.
      context.addTaskCompletionListener((TaskCompletionListener) ended -> release(id));
    }
    files.queue(file);
    start(files);
  }

  /** The bytes of `file` if they were fetched ahead (waiting for the fetch if it is under way), else null. */
  static byte[] take(WholeFile file) throws IOException {
    WHOLE_READS.incrementAndGet();
    TaskContext context = TaskContext.get();
    TaskFiles files = context == null ? null : TASKS.get(context.taskAttemptId());
    if (files == null) {
      return null;
    }
    Fetch fetch = files.claim(file.location());
    if (fetch == null) {
      start(files); // the next files, while this one is read directly
      return null;
    }
    try {
      byte[] bytes = fetch.future.get();
      PREFETCHED_READS.incrementAndGet();
      return bytes;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new InterruptedIOException("lecture anticipée interrompue : " + file.location());
    } catch (ExecutionException e) {
      Throwable cause = e.getCause();
      if (cause instanceof IOException) {
        throw (IOException) cause;
      }
      throw new IOException("lecture anticipée de " + file.location() + " : " + cause, cause);
    } finally {
      fetch.done(); // the opener's part: the bytes now belong to the stream
      start(files);
    }
  }

  private static void start(TaskFiles files) {
    synchronized (files) {
      while (!files.closed && !files.pending.isEmpty() && files.started.size() < files.threads) {
        WholeFile next = files.pending.values().iterator().next();
        if (!reserve(next.getLength(), files.maxBytes)) {
          return; // started again when some bytes are given back (each take)
        }
        files.pending.remove(next.location());
        Fetch fetch = new Fetch(next);
        files.started.put(next.location(), fetch);
        fetch.future = pool(files.threads).submit(fetch::run);
      }
    }
  }

  private static void release(long id) {
    TaskFiles files = TASKS.remove(id);
    if (files == null) {
      return;
    }
    List<Fetch> abandoned;
    synchronized (files) {
      files.closed = true;
      files.pending.clear();
      abandoned = new ArrayList<>(files.started.values());
      files.started.clear();
    }
    for (Fetch fetch : abandoned) {
      fetch.abandoned = true; // a fetch not begun yet returns at once
      fetch.done();
    }
  }

  private static boolean reserve(long bytes, long maxBytes) {
    synchronized (BUDGET) {
      if (reserved + bytes > maxBytes) {
        return false;
      }
      reserved += bytes;
      peakReserved = Math.max(peakReserved, reserved);
      return true;
    }
  }

  private static void unreserve(long bytes) {
    synchronized (BUDGET) {
      reserved -= bytes;
    }
  }

  private static synchronized ExecutorService pool(int threads) {
    if (pool == null) {
      AtomicInteger count = new AtomicInteger();
      pool =
          Executors.newFixedThreadPool(
              threads,
              runnable -> {
                Thread thread = new Thread(runnable, "lakehouse-prefetch-" + count.incrementAndGet());
                thread.setDaemon(true);
                return thread;
              });
    }
    return pool;
  }

  /** The files of one task: queued (not fetched yet) and started (fetching or fetched, not yet opened). */
  private static final class TaskFiles {
    final int threads;
    final long maxBytes;
    final LinkedHashMap<String, WholeFile> pending = new LinkedHashMap<>();
    final Map<String, Fetch> started = new HashMap<>();
    boolean closed = false;

    TaskFiles(int threads, long maxBytes) {
      this.threads = threads;
      this.maxBytes = maxBytes;
    }

    synchronized void queue(WholeFile file) {
      if (!closed && !started.containsKey(file.location())) {
        pending.putIfAbsent(file.location(), file);
      }
    }

    /** The fetch of `location` for its opener, or null (never started: it will not be fetched ahead). */
    synchronized Fetch claim(String location) {
      Fetch fetch = started.remove(location);
      if (fetch == null) {
        pending.remove(location);
      }
      return fetch;
    }
  }

  /** One file fetched ahead; its bytes are given back when both the fetch and the opener are done. */
  private static final class Fetch {
    final WholeFile file;
    final AtomicInteger holders = new AtomicInteger(2);
    volatile boolean abandoned = false;
    volatile Future<byte[]> future;

    Fetch(WholeFile file) {
      this.file = file;
    }

    byte[] run() throws IOException {
      try {
        return abandoned ? null : file.read();
      } finally {
        done();
      }
    }

    void done() {
      if (holders.decrementAndGet() == 0) {
        unreserve(file.getLength());
      }
    }
  }
}
