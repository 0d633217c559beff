import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.DiscardingSink;

/**
 * An unbounded job: counts up forever, about 100 numbers a second, keyed into 4 running sums.
 * Day-two tests start it before a change and check afterwards that it still runs, unrestarted.
 * Its gauge `largestSum` (the largest running sum seen since the task started) shows whether a
 * restarted job went on from its checkpointed state or from zero.
 */
public class Ticker {
    public static void main(String[] args) throws Exception {
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment();
        env.fromSequence(0, Long.MAX_VALUE)
            .map(new Slow())
            .keyBy(n -> n % 4)
            .sum(0)
            .map(new Largest())
            .addSink(new DiscardingSink<>());
        env.execute("ticker");
    }

    static class Slow extends RichMapFunction<Long, Long> {
        @Override
        public Long map(Long n) throws Exception {
            Thread.sleep(10);
            return n;
        }
    }

    static class Largest extends RichMapFunction<Long, Long> {
        private transient long largest;

        @Override
        public void open(Configuration parameters) {
            getRuntimeContext().getMetricGroup().gauge("largestSum", (Gauge<Long>) () -> largest);
        }

        @Override
        public Long map(Long sum) {
            largest = Math.max(largest, sum);
            return sum;
        }
    }
}
