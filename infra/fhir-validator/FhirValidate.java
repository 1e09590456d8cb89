// Validates FHIR R4 resources with the HL7 validator (org.hl7.fhir.validation's InstanceValidator, through HAPI's
// FhirInstanceValidator) against the R4 core StructureDefinitions, offline: no terminology server, so codes of
// external code systems (SNOMED CT, LOINC) are not checked against those systems; FHIR's own code systems and
// required bindings are. Reads one JSON resource per line on stdin, writes one JSON line per resource on stdout:
// {"index":n,"issues":[{"severity":"error","location":"...","messageId":"...","message":"..."}]}.
// Test tooling (test/helpers/fhir-validator.ts), never loaded by the gateway.
import ca.uhn.fhir.context.FhirContext;
import ca.uhn.fhir.context.support.DefaultProfileValidationSupport;
import ca.uhn.fhir.validation.FhirValidator;
import ca.uhn.fhir.validation.SingleValidationMessage;
import ca.uhn.fhir.validation.ValidationResult;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.hl7.fhir.common.hapi.validation.support.CommonCodeSystemsTerminologyService;
import org.hl7.fhir.common.hapi.validation.support.InMemoryTerminologyServerValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.SnapshotGeneratingValidationSupport;
import org.hl7.fhir.common.hapi.validation.support.ValidationSupportChain;
import org.hl7.fhir.common.hapi.validation.validator.FhirInstanceValidator;

public class FhirValidate {
  public static void main(String[] args) throws Exception {
    FhirContext ctx = FhirContext.forR4();
    ValidationSupportChain chain = new ValidationSupportChain(
        new DefaultProfileValidationSupport(ctx),
        new CommonCodeSystemsTerminologyService(ctx),
        new InMemoryTerminologyServerValidationSupport(ctx),
        new SnapshotGeneratingValidationSupport(ctx));
    FhirInstanceValidator module = new FhirInstanceValidator(chain);
    // a reference that does not resolve inside the bundle is an error: every reference we emit must resolve
    module.setAnyExtensionsAllowed(false);
    FhirValidator validator = ctx.newValidator().registerValidatorModule(module);
    PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
    BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    int index = 0;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) continue;
      JsonArray issues = new JsonArray();
      try {
        ValidationResult result = validator.validateWithResult(line);
        for (SingleValidationMessage m : result.getMessages()) {
          JsonObject issue = new JsonObject();
          issue.addProperty("severity", m.getSeverity().getCode());
          issue.addProperty("location", m.getLocationString());
          issue.addProperty("messageId", m.getMessageId());
          issue.addProperty("message", m.getMessage());
          issues.add(issue);
        }
      } catch (Exception e) {
        JsonObject issue = new JsonObject();
        issue.addProperty("severity", "fatal");
        issue.addProperty("location", "");
        issue.addProperty("messageId", e.getClass().getSimpleName());
        issue.addProperty("message", String.valueOf(e.getMessage()));
        issues.add(issue);
      }
      JsonObject row = new JsonObject();
      row.addProperty("index", index++);
      row.add("issues", issues);
      out.println(row.toString());
    }
  }
}
