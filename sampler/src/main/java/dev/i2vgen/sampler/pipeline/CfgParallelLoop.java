package dev.i2vgen.sampler.pipeline;

import dev.i2vgen.backend.Backend;
import dev.i2vgen.backend.ExecutionPlan;
import dev.i2vgen.backend.PlanLink;
import dev.i2vgen.graph.Value;
import dev.i2vgen.sampler.random.TorchGenerator;
import dev.i2vgen.sampler.scheduler.StepGraph;
import dev.i2vgen.tensor.Tensor;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.Function;
import java.util.function.IntFunction;

/**
 * A denoising loop with classifier-free guidance split over two devices (CFG-parallel), for any pipeline whose step
 * it gets as {@link CfgParallelGraphs}. Each device holds the model's weights and runs, every step, the model on one
 * half of the guidance batch: the first device the unconditional half, the second the conditional one. The two
 * outputs are exchanged backend to backend ({@link ExecutionPlan#linkTo}: peer copies between GPUs, ordered by events;
 * through the host between other backends), then each device guides and steps the latents itself, with the same
 * graph and the same numbers (the scheduler's noise is drawn once and given to both), so the latents stay identical
 * on both devices and only the model output crosses. Every run is submitted: on GPUs the two devices compute at once
 * and the host waits only where the listener reads tensors and for the final latents, which the first device gives.
 */
final class CfgParallelLoop implements AutoCloseable {
    /** Emits a step's intermediates from the first device's update plan; returns the new latents (read from it). */
    @FunctionalInterface
    interface StepTensors {
        Tensor emit(int step, float timestep, Tensor sample, ExecutionPlan update);
    }

    /** A step finished (progress). */
    @FunctionalInterface
    interface StepDone {
        void done(int step, float timestep);
    }

    /** One device's plans: the model on its half, the guided update, and the update's non-finite watch. */
    private record Device(ExecutionPlan model, ExecutionPlan update, NonFiniteWatch watch) {}

    private final CfgParallelGraphs graphs;
    private final List<ExecutionPlan> plans = new ArrayList<>();
    private final List<PlanLink> links = new ArrayList<>();
    private final Device[] devices = new Device[2];
    /** The halves' exchange (each model output into both updates) and each device's new latents back into its model. */
    private final List<PlanLink> exchange = new ArrayList<>(), feedback = new ArrayList<>();

    /**
     * Compiles both graphs on both backends, binds the conditioning and the initial state, and links the plans.
     *
     * @param backends  two backends: the unconditional half runs on the first, the conditional half on the second
     * @param bindHalf  binds half {@code h}'s conditioning (0 unconditional, 1 conditional) to a model plan
     * @param bindUpdate binds what the guided update reads besides the step's numbers (SVD's per-frame guidance)
     * @param latents   the initial latents
     * @param watch     the non-finite watch of an update plan
     */
    CfgParallelLoop(List<Backend> backends, CfgParallelGraphs graphs, HalfBinding bindHalf, Consumer<ExecutionPlan> bindUpdate,
                    Tensor latents, Function<ExecutionPlan, NonFiniteWatch> watch) {
        if (backends.size() != 2) throw new IllegalArgumentException("CFG-parallel takes two backends, got " + backends.size());
        this.graphs = graphs;
        try {
            for (int d = 0; d < 2; d++) {
                ExecutionPlan model = compile(backends.get(d), graphs.halfModel());
                ExecutionPlan update = compile(backends.get(d), graphs.guidedUpdate());
                bindHalf.bind(model, d);
                model.bind(CfgParallelGraphs.LATENTS, latents);
                bindUpdate.accept(update);
                update.bind(CfgParallelGraphs.LATENTS, latents);
                graphs.scheduler().initialState().forEach(update::bind);
                devices[d] = new Device(model, update, watch.apply(update));
            }
            for (int from = 0; from < 2; from++) {
                String half = from == 0 ? CfgParallelGraphs.UNCOND : CfgParallelGraphs.COND;
                for (Device to : devices) exchange.add(link(devices[from].model, CfgParallelGraphs.HALF_OUTPUT, to.update, half));
            }
            for (Device d : devices) feedback.add(link(d.update, CfgParallelGraphs.NEXT_LATENTS, d.model, CfgParallelGraphs.LATENTS));
        } catch (RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Binds one half's conditioning to a model plan. */
    @FunctionalInterface
    interface HalfBinding {
        void bind(ExecutionPlan model, int half);
    }

    /** How the halves travel between the two devices, in words. */
    String exchangeRoute() { return exchange.get(1).route(); }

    /**
     * Steps {@code first} to the end of {@code timesteps}. Per step: both halves submitted (the devices compute at
     * once), exchanged, both updates submitted with the same numbers, the new latents fed back on each device.
     *
     * @param modelInputs the model graph's per-step inputs besides the scheduler's (the timestep), by name
     * @param tensors     emits each step's intermediates (null: the listener wants none; the host then never waits in the loop)
     * @return the final latents (the first device's)
     */
    Tensor run(float[] timesteps, int first, TorchGenerator generator, IntFunction<Map<String, Tensor>> modelInputs,
               Tensor latents, StepTensors tensors, StepDone progress) {
        StepGraph scheduler = graphs.scheduler();
        Tensor sample = latents;
        for (int i = first; i < timesteps.length; i++) {
            Map<String, Tensor> numbers = scheduler.inputs(i, generator);   // noise drawn once, for both devices
            requireDeclared(numbers);
            Map<String, Tensor> perModel = modelInputs.apply(i);
            for (Device d : devices) d.model.submit(inputsOf(d.model, perModel, numbers));
            exchange.forEach(PlanLink::transfer);
            for (Device d : devices) {
                Map<Value, Tensor> in = inputsOf(d.update, Map.of(), numbers);
                d.watch.step(in, i);
                d.update.submit(in);
            }
            if (tensors != null) {
                sample = tensors.emit(i, timesteps[i], sample, devices[0].update);
                for (Device d : devices) d.watch.check();
            }
            for (Device d : devices) {
                d.update.copy(CfgParallelGraphs.NEXT_LATENTS, CfgParallelGraphs.LATENTS);
                d.watch.carry();
                scheduler.afterStep(d.update, i);
            }
            feedback.forEach(PlanLink::transfer);
            progress.done(i, timesteps[i]);
        }
        for (Device d : devices) d.watch.check();
        return devices[0].update.read(CfgParallelGraphs.NEXT_LATENTS);
    }

    /** The entries of {@code maps} that {@code plan}'s graph declares as inputs, by value. */
    @SafeVarargs
    private static Map<Value, Tensor> inputsOf(ExecutionPlan plan, Map<String, Tensor>... maps) {
        Map<String, Value> declared = plan.graph().inputs();
        Map<Value, Tensor> in = new HashMap<>();
        for (Map<String, Tensor> m : maps) m.forEach((name, t) -> {
            Value v = declared.get(name);
            if (v != null) in.put(v, t);
        });
        return in;
    }

    /** Every number the scheduler gives must feed one of the graphs (else the split lost a part of the step). */
    private void requireDeclared(Map<String, Tensor> numbers) {
        for (String name : numbers.keySet()) {
            if (!graphs.halfModel().inputs().containsKey(name) && !graphs.guidedUpdate().inputs().containsKey(name)) {
                throw new IllegalStateException("CFG-parallel: the scheduler's input '" + name + "' is in neither "
                        + graphs.halfModel().name() + " nor " + graphs.guidedUpdate().name());
            }
        }
    }

    private ExecutionPlan compile(Backend backend, dev.i2vgen.graph.ImmutableTaskGraph graph) {
        ExecutionPlan plan = backend.compile(graph);
        plans.add(plan);
        return plan;
    }

    private PlanLink link(ExecutionPlan from, String output, ExecutionPlan to, String input) {
        PlanLink link = from.linkTo(output, to, input);
        links.add(link);
        return link;
    }

    @Override
    public void close() {
        RuntimeException first = null;
        for (AutoCloseable c : concat(links, plans)) {
            try {
                c.close();
            } catch (Exception e) {
                if (first == null) first = e instanceof RuntimeException r ? r : new IllegalStateException(e);
            }
        }
        if (first != null) throw first;
    }

    private static List<AutoCloseable> concat(List<? extends AutoCloseable> a, List<? extends AutoCloseable> b) {
        List<AutoCloseable> all = new ArrayList<>(a);
        all.addAll(b);
        return all;
    }
}
